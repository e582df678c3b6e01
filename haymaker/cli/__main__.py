from haymaker.cli import main

main()
