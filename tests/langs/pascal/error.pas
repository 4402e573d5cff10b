program Main;
begin
  WriteLn(StdErr, 'error: something went wrong');
  Halt(3);
end.
