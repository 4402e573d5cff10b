program Main;
begin
  WriteLn('hello')
  WriteLn('world');
end.
