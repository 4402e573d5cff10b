-module(main).
-export([main/1]).

%% Copy standard input to standard output, byte for byte.
main(_) ->
    ok = io:setopts(standard_io, [binary]),
    copy().

copy() ->
    case io:get_chars(standard_io, "", 4096) of
        eof -> ok;
        Data -> ok = io:put_chars(standard_io, Data), copy()
    end.
