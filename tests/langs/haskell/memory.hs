-- Keeps a list of 100 million Ints (a few GB of cells) alive while summing it:
-- its length is needed afterwards, so nothing can be collected.
main :: IO ()
main = do
  let kept = [1 .. 100000000] :: [Int]
  print (sum kept + length kept)
