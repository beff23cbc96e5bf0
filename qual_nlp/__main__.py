from qual_nlp.cli import main

raise SystemExit(main())
