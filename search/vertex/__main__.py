import sys

from search.vertex.command import main

sys.exit(main())
