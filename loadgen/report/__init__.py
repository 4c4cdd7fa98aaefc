"""What a run leaves for people: printed profiles, the HTML report, run comparison."""
