"""Hot issues (热点): many citizens reporting one problem at one place in the same days.

``cluster`` finds them (pure), ``services`` recomputes the snapshot and gathers a hot issue's
tickets under a lead case (merge or link), ``selectors`` reads them for the inbox and the
leadership dashboard."""
