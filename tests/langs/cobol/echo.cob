*> Line-sequential COBOL I/O cannot tell whether the last line ended with a
*> newline, so copy raw bytes with the C library's read(2)/write(2).
IDENTIFICATION DIVISION.
PROGRAM-ID. echo.
DATA DIVISION.
WORKING-STORAGE SECTION.
01 BUF        PIC X(4096).
01 BUF-SIZE   BINARY-LONG VALUE 4096.
01 N-READ     BINARY-LONG.
PROCEDURE DIVISION.
    PERFORM UNTIL 1 = 0
        CALL STATIC "read" USING BY VALUE 0
                                 BY REFERENCE BUF
                                 BY VALUE BUF-SIZE
                           RETURNING N-READ
        IF N-READ <= 0
            EXIT PERFORM
        END-IF
        CALL STATIC "write" USING BY VALUE 1
                                  BY REFERENCE BUF
                                  BY VALUE N-READ
    END-PERFORM
    MOVE 0 TO RETURN-CODE
    STOP RUN.
