from bolservice.cli import main

raise SystemExit(main())
