from pm_cli.app import main

main()
