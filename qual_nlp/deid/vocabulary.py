"""Words de-identification never catches on their own: roles, services, diagnoses,
drugs, speaker words and titles, in English and French (folded: lower case, no accents).

A project adds its own through the dictionary (``mode="never"``).
"""

from __future__ import annotations

import unicodedata


def _fold(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(plain.replace("’", "'").casefold().split())


def _set(block: str) -> frozenset[str]:
    return frozenset(_fold(line) for line in block.strip().splitlines() if line.strip())


#: Titles and honorifics (a name after one is a person; the title itself stays).
TITLES = _set(
    """
dr
dr.
dre
doctor
docteur
docteure
mr
mr.
mrs
mrs.
ms
ms.
miss
mx
nurse
sister
father
madame
monsieur
mme
m.
mlle
infirmiere
infirmier
l'infirmiere
l'infirmier
soeur
pere
prof
pr
le
la
les
the
"""
)

_ROLES = """
nurse
nurses
nurse case manager
case manager
nurse practitioner
family doctor
family physician
physician
doctor
gp
np
ncm
pharmacist
social worker
receptionist
coordinator
manager
clinic manager
dietitian
physiotherapist
psychologist
secretary
interviewer
participant
patient
caregiver
infirmiere
infirmier
infirmiere gestionnaire de cas
gestionnaire de cas
gestionnaire
infirmiere praticienne
medecin
medecin de famille
pharmacienne
pharmacien
travailleuse sociale
travailleur social
receptionniste
coordonnatrice
coordonnateur
nutritionniste
physiotherapeute
psychologue
intervieweuse
intervieweur
participante
patiente
proche aidant
proche aidante
prepose
preposee
"""

_SERVICES = """
clsc
gmf
gmf-u
chsld
cisss
ciusss
ramq
ohip
medicare
emergency
emergency department
er
icu
urgence
home care
soins a domicile
soutien a domicile
meals on wheels
popote roulante
individual services plan
plan de services individualise
psi
isp
care plan
needs assessment
evaluation des besoins
self-management
autogestion
primary care
premiere ligne
family medicine group
family health team
community health centre
community health center
health team
groupe de medecine de famille
cfir
cmo
"""

_CONDITIONS = """
copd
mpoc
diabetes
diabete
hypertension
heart failure
insuffisance cardiaque
dementia
demence
alzheimer
stroke
avc
asthma
asthme
cancer
depression
anxiety
anxiete
arthritis
arthrose
chronic kidney disease
insuffisance renale
covid
covid-19
insulin
insuline
metformin
metformine
warfarin
warfarine
donepezil
furosemide
ventolin
salbutamol
atorvastatin
lipitor
tylenol
advil
ozempic
"""

_OTHER = """
interview
entrevue
entretien
transcribed
transcription
transcript
field
field notes
notes de terrain
research
recherche
info-sante
info-social
oh
sure
because
most
sorry
euh
ben
bon
well
yeah
yep
right
exactly
absolutely
honestly
really
voila
bien
alors
donc
pis
that
this
don
address
adresse
birth date
date of birth
date de naissance
phone
telephone
email
courriel
note
notes
monday
tuesday
wednesday
thursday
friday
saturday
sunday
lundi
mardi
mercredi
jeudi
vendredi
samedi
dimanche
canada
ontario
new brunswick
nouveau-brunswick
nova scotia
nouvelle-ecosse
manitoba
alberta
saskatchewan
british columbia
belgique
belgium
wallonie
english
french
francais
anglais
ok
okay
oui
yes
no
non
merci
thank
thanks
hmm
mm-hmm
"""

#: Never caught on their own (a name *with* one of these, "Nurse Tremblay", still is).
NEVER: frozenset[str] = _set(_ROLES) | _set(_SERVICES) | _set(_CONDITIONS) | _set(_OTHER)
