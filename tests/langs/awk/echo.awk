# RS = "^$" never matches, so gawk reads all of stdin as one record.
BEGIN { RS = "^$"; ORS = "" }
{ print }
