" Rampart policy files.
autocmd BufRead,BufNewFile *.rp setfiletype rampart
