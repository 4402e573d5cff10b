CREATE TABLE input(text);
.import --ascii /dev/stdin input
.mode list
.separator "" ""
SELECT text FROM input;
