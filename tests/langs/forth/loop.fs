: main ( -- )  begin again ;
main bye
