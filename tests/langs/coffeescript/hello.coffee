console.log "hello"
