say "hello";
