from rucio_tornado.cli import main

raise SystemExit(main())
