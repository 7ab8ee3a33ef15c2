"""Page layouts: functions returning components; ids live in layouts/ids.py."""
