program Main;
var
  C: Char;
begin
  while not Eof(Input) do
  begin
    Read(Input, C);
    Write(Output, C);
  end;
end.
