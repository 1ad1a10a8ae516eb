from lightlab.cli import main

main()
