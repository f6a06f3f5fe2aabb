from robustssl.cli import main

raise SystemExit(main())
