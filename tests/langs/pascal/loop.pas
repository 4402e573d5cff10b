program Main;
begin
  while true do ;
end.
