-- Asks for a 1 GB blob of random bytes.
SELECT length(randomblob(1000000000));
