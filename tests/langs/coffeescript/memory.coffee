# Keeps 1 MB buffers until 1 GB, each written: past any limit the registry gives Node.
kept = (Buffer.alloc(1 << 20, 1) for i in [0...1024])
console.log "kept #{kept.length} MB"
