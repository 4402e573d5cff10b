# Keeps 1 MB byte strings until 1 GB, each written: past any limit the registry gives Python.
kept = [bytes([i % 256]) * (1 << 20) for i in range(1024)]
print("kept", len(kept), "MB")
