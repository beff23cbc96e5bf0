"""The project's own recognisers, as :class:`~qual_nlp.records.DeidPattern` records:
Canadian shapes (health cards, postal codes, phone numbers, addresses), dates and ages in
English and French, names after a title or a kinship or role word, organisations named by
their head word (Clinique …, … Hospital), and the gazetteer.

>>> any(p.kind == "POSTAL_CODE" for p in deid_patterns())
True
"""

from __future__ import annotations

import re
from functools import lru_cache

from qual_nlp.deid import gazetteer
from qual_nlp.records import DeidPattern

UP = "A-ZÀ-ÖØ-Þ"
LO = "a-zß-öø-ÿ"
#: A capitalised name word: Tremblay, O'Rourke, MacAulay, Fournier-Lavallée, Saint-Jean.
NAME = rf"(?:[{UP}][{UP}{LO}'’]*[{LO}](?:-[{UP}{LO}][{UP}{LO}'’]*)*)"
#: Capitalised words that start sentences rather than names.
_NOT_NAME = (
    r"(?!(?:The|A|An|Our|My|His|Her|Their|This|That|These|Those|It|In|On|At|And|But|So|"
    r"La|Le|Les|Un|Une|Des|Notre|Mon|Ma|Mes|Son|Sa|Ses|Leur|Ce|Cette|Il|Elle|On|Et|Mais|"
    r"Each|Every|Any|No|Some|All|We|They|She|He|I)\b)"
)
NAMEX = _NOT_NAME + NAME
#: Up to three name words (Ines Da Silva, Marie-Claude Fournier-Lavallée).
FULL_NAME = rf"{NAMEX}(?:\s+(?:(?:da|de|van|von|le|la|du|di)\s+)?{NAME}){{0,2}}"

MONTHS_EN = (
    "January|February|March|April|May|June|July|August|September|October|November|December|"
    r"Jan\.|Feb\.|Mar\.|Apr\.|Jun\.|Jul\.|Aug\.|Sept?\.|Oct\.|Nov\.|Dec\."
)
MONTHS_FR = "janvier|février|fevrier|mars|avril|mai|juin|juillet|août|aout|septembre|octobre|novembre|décembre|decembre"

_TITLES_EN = r"Dr\.?|Doctor|Mr\.?|Mrs\.?|Ms\.?|Miss|Mx\.?|Nurse|Sister|Father|Prof\.?"
_TITLES_FR = (
    r"Dre?\.?|Docteure?|docteure?|Madame|madame|Mme\.?|Monsieur|monsieur|M\.|Mlle\.?|"
    r"infirmière|infirmier|Infirmière|Infirmier|sœur|soeur|Sœur|Soeur|Père|père|Pr\.?"
)
_KIN_EN = (
    r"daughter|son|husband|wife|neighbour|neighbor|grandson|granddaughter|brother|sister|"
    r"mother|father|mom|mum|dad|friend|colleague|partner|niece|nephew|cousin|aunt|uncle|"
    r"boyfriend|girlfriend|caregiver|landlord|roommate|named|called"
)
_KIN_FR = (
    r"fille|fils|mari|femme|conjoint|conjointe|voisin|voisine|petite-fille|petit-fils|"
    r"frère|sœur|soeur|mère|père|ami|amie|collègue|nièce|neveu|cousin|cousine|tante|oncle|"
    r"chum|blonde|proche aidante?|propriétaire|nommée?|appelée?|avec"
)
_ROLES_EN = (
    r"nurse|manager|receptionist|coordinator|physician|doctor|practitioner|pharmacist|"
    r"social worker|secretary|director|dietitian|physiotherapist|psychologist|resident|"
    r"planner|navigator|worker|GP|NP|NCM"
)
_ROLES_FR = (
    r"infirmière|infirmier|gestionnaire|réceptionniste|coordonnatrice|coordonnateur|médecin|"
    r"praticienne|praticien|pharmacienne|pharmacien|travailleuse sociale|travailleur social|"
    r"secrétaire|directrice|directeur|nutritionniste|physiothérapeute|psychologue|"
    r"résidente?|planificatrice|préposée?|collègue|adjointe?"
)
_SELF_EN = r"[Mm]y name is|I'm|I am|[Cc]all me|[Tt]his is"
_SELF_FR = r"[Jj]e m'appelle|[Jj]e m’appelle|[Mm]on nom est|[Cc]'est|[Cc]’est|[Mm]oi c'est"

_ORG_HEAD_FR = (
    r"Clinique|Centre hospitalier|Centre|Hôpital|Hopital|Pharmacie|GMF|GMF-U|CLSC|CISSS|"
    r"CIUSSS|CHSLD|CHU|Coop|Coopérative|Maison|Résidence|Foyer|Club|Association|Société|"
    r"Fondation|Réseau|Regroupement|Corporation|Carrefour|Popote"
)
_ORG_HEAD_EN = r"Hospital|Clinic|Pharmacy|Society|Club|Association|Foundation|Centre|Center"
_ORG_TAIL_EN = (
    r"Hospital|Clinic|Pharmacy|Drug Mart|Family Health Team|Health Team|Medical Clinic|"
    r"Medical Centre|Medical Center|Health Centre|Health Center|Community Centre|"
    r"Community Center|Society|Association|Club|Foundation|Network|Lodge|Manor|"
    r"Nursing Home|Seniors' Home|Home Care|Health Region|health region|Health Authority|"
    r"pharmacy|clinic|hospital"
)
_LINK_FR = r"(?:de\s+la|de\s+l['’]|du|des|de|d['’]|à|au|aux)"

_HEALTH_CONTEXT = (
    "health",
    "card",
    "carte",
    "assurance",
    "maladie",
    "assurance-maladie",
    "medicare",
    "ramq",
    "ohip",
    "number",
    "numéro",
    "nam",
    "soleil",
)


def _words(names: tuple[str, ...]) -> str:
    alternatives = sorted({re.escape(n) for n in names}, key=len, reverse=True)
    return rf"(?<![\w-])(?:{'|'.join(alternatives)})(?![\w-])"


def _both(kind: str, name: str, rx: str, score: float, **kw: object) -> list[DeidPattern]:
    return [DeidPattern(kind, f"{name}_{lang}", rx, score, lang, **kw) for lang in ("en", "fr")]  # type: ignore[arg-type]


@lru_cache(maxsize=1)
def deid_patterns() -> tuple[DeidPattern, ...]:
    """Every pattern recogniser for English and French, built once."""
    p: list[DeidPattern] = []
    ctx = _HEALTH_CONTEXT
    # ---------------------------------------------------------------- numbers
    p += _both("HEALTH_ID", "ramq", r"\b[A-Z]{4}[ -]?\d{4}[ -]?\d{4}\b", 0.85, context=ctx)
    p += _both(
        "HEALTH_ID",
        "health_10",
        r"(?<![\d-])\d{4}[ -]?\d{3}[ -]?\d{3}(?:[ -]?[A-Z]{2})?\b",
        0.5,
        context=ctx,
    )
    p += _both(
        "HEALTH_ID", "health_9", r"(?<![\d-])\d{3}[ -]?\d{3}[ -]?\d{3}(?![\d-])", 0.5, context=ctx
    )
    phone = (
        r"(?<![\w-])(?:\+?1[ .-]?)?(?:\(\d{3}\)[ .-]?|\d{3}[ .-])\d{3}[ .-]\d{4}(?![\d-])"
        r"(?:,?\s*(?:poste|ext\.?|extension|p\.)\s*\d{1,5})?"
    )
    p += _both("PHONE", "phone_ca", phone, 0.7, context=("phone", "téléphone", "cell", "appel"))
    postal = r"\b[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z][ -]?\d[ABCEGHJ-NPRSTV-Z]\d\b"
    p += _both("POSTAL_CODE", "postal_ca", postal, 0.9)
    email = r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}(?![\w-])"
    p += _both("EMAIL", "email", email, 0.9)
    # --------------------------------------------------------------- addresses
    street_fr = (
        r"rue|avenue|av\.|boulevard|boul\.|chemin|ch\.|route|rang|place|montée|côte|impasse|"
        r"allée|promenade|croissant|terrasse|carré|ruelle"
    )
    p.append(
        DeidPattern(
            "ADDRESS",
            "address_fr",
            rf"\b\d{{1,5}}(?:-?[A-Za-z])?,?\s+(?:{street_fr})\s+(?:{_LINK_FR}\s*|la\s+|le\s+)?"
            rf"{NAME}(?:[\s-]{NAME})*(?:\s+(?:Ouest|Est|Nord|Sud))?",
            0.85,
            "fr",
        )
    )
    p.append(
        DeidPattern(
            "ADDRESS",
            "street_fr",
            rf"(?<![\w-])(?:{street_fr})\s+(?:{_LINK_FR}\s*|la\s+|le\s+)?{NAMEX}"
            rf"(?:[\s-]{NAME})*(?:\s+(?:Ouest|Est|Nord|Sud))?",
            0.6,
            "fr",
        )
    )
    street_en = (
        r"Street|St\.|Avenue|Ave\.?|Road|Rd\.?|Boulevard|Blvd\.?|Drive|Lane|Crescent|Court|"
        r"Way|Place|Terrace|Highway|Row|Concession|Trail|Parkway"
    )
    p += _both(
        "ADDRESS",
        "address_en",
        rf"\b\d{{1,5}}[A-Za-z]?,?\s+(?:{NAME}\s+){{1,3}}(?:{street_en})(?![\w])",
        0.85,
    )
    p += _both("ADDRESS", "street_en", rf"(?:{NAMEX}\s+){{1,3}}(?:{street_en})(?![\w])", 0.6)
    # ------------------------------------------------------------------- dates
    day = r"(?:[12]\d|3[01]|0?[1-9])"
    date_en = (
        rf"\b(?:{day}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{MONTHS_EN})(?:,?\s+\d{{4}})?"
        rf"|(?:{MONTHS_EN})\s+{day}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?"
        rf"|(?:{MONTHS_EN})\s+(?:19|20)\d\d)(?![\w])"
    )
    p.append(DeidPattern("DATE", "date_en", date_en, 0.8, "en"))
    date_fr = (
        rf"\b(?:(?:1er|{day})\s+(?:{MONTHS_FR})(?:\s+\d{{4}})?|(?:{MONTHS_FR})\s+(?:19|20)\d\d)"
        r"(?![\w])"
    )
    p.append(DeidPattern("DATE", "date_fr", date_fr, 0.8, "fr", ignore_case=True))
    numeric = (
        r"(?<![\d/-])(?:(?:19|20)\d\d-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])"
        r"|(?:0?[1-9]|[12]\d|3[01])/(?:0?[1-9]|1[0-2])/(?:19|20)?\d\d)(?![\d/-])"
    )
    p += _both("DATE", "date_numeric", numeric, 0.8)
    # -------------------------------------------------------------------- ages
    old = r"(?:9\d|1[01]\d)"
    p.append(
        DeidPattern(
            "AGE_OVER_89",
            "age_en",
            rf"\b{old}(?:\s*|-)(?:years?|yrs?)(?:\s*|-)old\b|\b{old}-year-old\b"
            rf"|(?<=\b(?:aged|age|is|was|turned|turning|of)\s+){old}\b(?!\s*(?:%|percent|times|"
            r"minutes|patients|people|kg|mg|cases|visits))",
            0.85,
            "en",
        )
    )
    p.append(
        DeidPattern(
            "AGE_OVER_89",
            "age_fr",
            rf"\b{old}\s+ans\b(?!\s+(?:plus tard|après|avant|de\s+(?:service|pratique|carrière)))",
            0.85,
            "fr",
        )
    )
    # ------------------------------------------------------------------ people
    p.append(
        DeidPattern("PERSON", "title_en", rf"(?<=\b(?:{_TITLES_EN})\s+){FULL_NAME}", 0.85, "en")
    )
    p.append(
        DeidPattern(
            "PERSON",
            "title_fr",
            rf"(?<=(?:\b|l['’])(?:{_TITLES_FR})\s+){FULL_NAME}",
            0.85,
            "fr",
        )
    )
    p.append(DeidPattern("PERSON", "kin_en", rf"(?<=\b(?:{_KIN_EN})\s+){FULL_NAME}", 0.75, "en"))
    p.append(DeidPattern("PERSON", "kin_fr", rf"(?<=\b(?:{_KIN_FR})\s+){FULL_NAME}", 0.75, "fr"))
    p.append(
        DeidPattern(
            "PERSON",
            "role_en",
            rf"(?<=\b(?:{_ROLES_EN})(?:\s+[\w-]+){{0,2}}\s*(?:,|is|was|:)\s+){FULL_NAME}",
            0.75,
            "en",
        )
    )
    p.append(
        DeidPattern(
            "PERSON",
            "role_fr",
            rf"(?<=\b(?:{_ROLES_FR})(?:\s+[\w-]+){{0,3}}\s*(?:,|est|était|:)\s+){FULL_NAME}",
            0.75,
            "fr",
        )
    )
    p.append(DeidPattern("PERSON", "self_en", rf"(?<=\b(?:{_SELF_EN})\s+){FULL_NAME}", 0.75, "en"))
    p.append(DeidPattern("PERSON", "self_fr", rf"(?<=(?:{_SELF_FR})\s+){FULL_NAME}", 0.75, "fr"))
    given, surnames = _words(gazetteer.GIVEN_NAMES), _words(gazetteer.SURNAMES)
    p += _both("PERSON", "given_names", rf"{given}(?:\s+{NAME})?", 0.6)
    p += _both("PERSON", "surnames", surnames, 0.6)
    # ------------------------------------------------------- places and bodies
    p += _both("LOCATION", "places", _words(gazetteer.PLACES), 0.7)
    p += _both(
        "LOCATION",
        "saint_places",
        rf"(?<![\w-])(?:Saint|Sainte|St|Ste)-{NAME}(?:-{NAME})*",
        0.6,
    )
    p += _both("ORGANIZATION", "organizations", _words(gazetteer.ORGANIZATIONS), 0.7)
    org_fr_adj = r"(?:\s+(?:médicale|familiale|régional|régionale|universitaire|communautaire))*"
    # French institutions are named in French in English transcripts too
    p += _both(
        "ORGANIZATION",
        "org_head_fr",
        rf"(?<![\w-])(?:{_ORG_HEAD_FR}){org_fr_adj}\s+(?:"
        rf"(?:{_LINK_FR}\s*)?{NAMEX}(?:[\s-]{NAME})*(?:\s+{_LINK_FR}\s*{NAME}(?:[\s-]{NAME})*)?"
        rf"|(?:[\w'’-]+\s+){{1,4}}?{_LINK_FR}\s*{NAMEX}(?:[\s-]{NAME})*)",
        0.75,
    )
    p += _both(
        "ORGANIZATION",
        "org_tail_en",
        rf"{NAMEX}(?:\s+(?:{NAME}|of|and|&))*?\s+(?:{_ORG_TAIL_EN})(?:\s+of\s+{NAME}(?:\s+{NAME})*)?(?![\w])",
        0.75,
    )
    p += _both(
        "ORGANIZATION",
        "org_head_en",
        rf"(?<![\w-])(?:{_ORG_HEAD_EN})\s+of\s+{NAME}(?:\s+{NAME})*",
        0.75,
    )
    return tuple(p)
