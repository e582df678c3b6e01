from haymaker_cli import main

main()
