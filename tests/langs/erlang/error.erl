-module(main).
-export([main/1]).

main(_) ->
    io:format(standard_error, "error: something went wrong~n", []),
    halt(3).
