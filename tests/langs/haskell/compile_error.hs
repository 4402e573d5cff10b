main :: IO ()
main = putStrLn ("hello" ++ 1
