"""Tells people when an AWS Config organization rule or pack deployment changes state."""
