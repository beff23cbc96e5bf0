"""Pages of the qual_nlp Streamlit app; ``streamlit_app.py`` is the entrypoint and router.

Each page module has one ``render()`` function; it reads the project and the
current coder from :mod:`app_pages.common` and calls only the public facade
:class:`qual_nlp.project.Project`.
"""
