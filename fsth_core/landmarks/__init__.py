"""68-point facial landmarks (iBUG 300-W layout): detection, tracking, cropping, drawing."""
