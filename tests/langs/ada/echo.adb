with Ada.Text_IO;              use Ada.Text_IO;
with Ada.Text_IO.Text_Streams; use Ada.Text_IO.Text_Streams;

--  Text_IO's line functions drop the information whether the last line
--  ended with a newline, so copy the raw bytes through the stream view.
procedure Main is
   Input  : constant Stream_Access := Stream (Standard_Input);
   Output : constant Stream_Access := Stream (Standard_Output);
   C      : Character;
begin
   loop
      Character'Read (Input, C);
      Character'Write (Output, C);
   end loop;
exception
   when End_Error =>
      null;
end Main;
