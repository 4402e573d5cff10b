import System.Exit (ExitCode (ExitFailure), exitWith)
import System.IO (hPutStrLn, stderr)

main :: IO ()
main = do
  hPutStrLn stderr "error: something went wrong"
  exitWith (ExitFailure 3)
