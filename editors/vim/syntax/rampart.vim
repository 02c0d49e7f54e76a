" Vim syntax file for Rampart policies (man rampart-policy).
if exists("b:current_syntax")
  finish
endif

" Options such as log-prefix are one word.
syn iskeyword @,48-57,_,192-255,-

syn keyword rampartStatement include host network range group service user firewall access
syn keyword rampartStatement interface bridge ruleset nat guest border
syn keyword rampartOption log-prefix log-level default accept-established backup-ssh forward arp-guard
syn keyword rampartAction accept deny drop reject branch continue return antispoof
syn keyword rampartAction masquerade snat dnat
syn keyword rampartClause from to on in out not days time log stateless comment with
syn keyword rampartClause sport dport uid gid mac beyond
syn keyword rampartConstant any self tcp udp icmp icmpv6 proto dynamic loopback management
syn match rampartNumber "\<\d\+\(-\d\+\)\?\>"
syn match rampartAddress "\<\d\{1,3}\(\.\d\{1,3}\)\{3}\(/\d\{1,2}\)\?\>"
syn match rampartAddress "\<\x*:[0-9a-fA-F:]*\(/\d\{1,3}\)\?"
syn region rampartString start=+"+ skip=+\\\\\|\\"+ end=+"+ oneline
syn match rampartComment "#.*$" contains=@Spell

hi def link rampartStatement Statement
hi def link rampartOption PreProc
hi def link rampartAction Keyword
hi def link rampartClause Type
hi def link rampartConstant Constant
hi def link rampartAddress Number
hi def link rampartNumber Number
hi def link rampartString String
hi def link rampartComment Comment

let b:current_syntax = "rampart"
