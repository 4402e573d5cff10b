{ Keeps 1 MB blocks until 1 GB, each filled. }
program Memory;
var
  Kept: array[1..1024] of Pointer;
  I: Integer;
begin
  for I := 1 to 1024 do
  begin
    GetMem(Kept[I], 1048576);
    FillChar(Kept[I]^, 1048576, I mod 255 + 1);
  end;
  WriteLn('kept 1024 MB');
end.
