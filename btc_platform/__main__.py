from btc_platform.cli import main

main()
