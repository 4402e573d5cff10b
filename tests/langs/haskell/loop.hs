main :: IO ()
main = loop 0
  where
    loop :: Int -> IO ()
    loop n = loop (n + 1)
