from ccmcli.cli import main

main()
