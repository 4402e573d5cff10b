--  Keeps 1 MB strings until 1 GB, each filled.
with Ada.Text_IO;
procedure Main is
   type Block is access String;
   Kept : array (1 .. 1024) of Block;
begin
   for I in Kept'Range loop
      Kept (I) := new String'(1 .. 1_048_576 => Character'Val (I mod 255 + 1));
   end loop;
   Ada.Text_IO.Put_Line ("kept" & Integer'Image (Kept'Length) & " MB");
end Main;
