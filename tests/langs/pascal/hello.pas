program Main;
begin
  WriteLn('hello');
end.
