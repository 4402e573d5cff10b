-module(main).
-export([main/1]).

main(_) ->
    loop().

loop() ->
    loop().
