from bayescap.cli import main

raise SystemExit(main())
