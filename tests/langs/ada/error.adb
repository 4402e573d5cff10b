with Ada.Command_Line;
with Ada.Text_IO;

procedure Main is
begin
   Ada.Text_IO.Put_Line (Ada.Text_IO.Standard_Error, "error: something went wrong");
   Ada.Command_Line.Set_Exit_Status (3);
end Main;
