"""Where the repository's folders are: computed once here, imported by whatever needs a default location."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
TERRAFORM_DIR = REPO_ROOT / "terraform"
PROFILES_DIR = REPO_ROOT / "profiles"
REPORTS_DIR = REPO_ROOT / "reports"
CACHE_DIR = REPO_ROOT / ".cache"
