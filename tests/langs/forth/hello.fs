: main ( -- )  ." hello" cr ;
main bye
