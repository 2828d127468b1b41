from remediation_lint.cli import main

raise SystemExit(main())
