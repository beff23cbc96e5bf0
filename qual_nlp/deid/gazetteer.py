"""Names the small spaCy models miss often: places of the provinces and countries the
studies run in, organisations that recur in primary-care transcripts, and common given
names and surnames of Quebec, Acadia and English Canada.

A gazetteer widens recall; it is never the only way a name is found (the NER and the
project dictionary are the others). Entries are matched as whole words, case-sensitively.
"""

from __future__ import annotations

#: Cities, towns and regions of Quebec, New Brunswick, Ontario, the rest of Canada, Belgium.
PLACES: tuple[str, ...] = tuple(
    ["Montréal", "Montreal", "Québec", "Quebec", "Laval", "Gatineau", "Longueuil", "Sherbrooke", "Lévis", "Saguenay", "Trois-Rivières", "Terrebonne", "Saint-Jean-sur-Richelieu", "Repentigny", "Brossard", "Drummondville", "Saint-Jérôme", "Granby", "Blainville", "Mirabel", "Châteauguay", "Mascouche", "Shawinigan", "Dollard-des-Ormeaux", "Rimouski", "Victoriaville", "Saint-Eustache", "Rouyn-Noranda", "Salaberry-de-Valleyfield", "Vaudreuil-Dorion", "Sorel-Tracy", "Alma", "Val-d'Or", "Saint-Hyacinthe", "Joliette", "Saint-Georges", "Magog", "Sept-Îles", "Baie-Comeau", "Matane", "Mont-Joli", "Amqui", "Gaspé", "Chandler", "Carleton-sur-Mer", "Rivière-du-Loup", "Cabano", "Témiscouata-sur-le-Lac", "Montmagny", "Saint-Jean-Port-Joli", "Beauceville", "Sainte-Marie", "Lac-Mégantic", "Coaticook", "Cowansville", "Farnham", "Bromont", "Sutton", "Saint-Félicien", "Roberval", "Dolbeau-Mistassini", "Chibougamau", "Chicoutimi", "Jonquière", "Amos", "Ville-Marie", "Mont-Laurier", "Sainte-Agathe-des-Monts", "Saint-Sauveur", "Mont-Tremblant", "Lachute", "Rawdon", "Berthierville", "Louiseville", "Nicolet", "Bécancour", "Plessisville", "Princeville", "Saint-Tite", "Sainte-Anne-de-Beaupré", "Baie-Saint-Paul", "Charlevoix", "Beauport", "Charlesbourg", "Sainte-Foy", "Cap-Rouge", "Saint-Basile", "Saint-Raymond", "Portneuf", "Donnacona", "Pont-Rouge", "Stoneham", "Kamouraska", "Abitibi", "Témiscamingue", "Mauricie", "Outaouais", "Estrie", "Gaspésie", "Lanaudière", "Laurentides", "Montérégie", "Chaudière-Appalaches", "Bas-Saint-Laurent", "Côte-Nord", "Nunavik", "Kuujjuaq", "Îles-de-la-Madeleine", "Havre-Saint-Pierre", "Fermont", "Lebel-sur-Quévillon", "Senneterre", "Moncton", "Dieppe", "Riverview", "Shediac", "Bouctouche", "Richibucto", "Fredericton", "Oromocto", "Miramichi", "Bathurst", "Caraquet", "Shippagan", "Lamèque", "Tracadie", "Néguac", "Campbellton", "Dalhousie", "Edmundston", "Grand-Sault", "Saint-Quentin", "Kedgwick", "Sackville", "Sussex", "Woodstock", "Hartland", "Perth-Andover", "Memramcook", "Cap-Pelé", "Petitcodiac", "Hampton", "Quispamsis", "Rothesay", "Minto", "Chipman", "Saint-Léonard", "Clair", "Rogersville", "Toronto", "Ottawa", "Hamilton", "Kingston", "Cornwall", "Casselman", "Rockland", "Embrun", "Alexandria", "Prescott", "Brockville", "Pembroke", "Renfrew", "Arnprior", "Perth", "Belleville", "Peterborough", "Oshawa", "Barrie", "Orillia", "Sudbury", "Timmins", "Kapuskasing", "Hearst", "Kenora", "London", "Windsor", "Sarnia", "Kitchener", "Waterloo", "Guelph", "Brantford", "Meaford", "Hanover", "Wiarton", "Collingwood", "Midland", "Huntsville", "Bracebridge", "Mississauga", "Brampton", "Markham", "Vaughan", "Oakville", "Burlington", "Ajax", "Pickering", "Whitby", "Orléans", "Kanata", "Nepean", "Halifax", "Dartmouth", "Sydney", "Truro", "Yarmouth", "Antigonish", "Charlottetown", "Summerside", "Regina", "Saskatoon", "Winnipeg", "Brandon", "Calgary", "Edmonton", "Lethbridge", "Vancouver", "Victoria", "Kelowna", "Kamloops", "Nanaimo", "Whitehorse", "Yellowknife", "Iqaluit", "Gander", "Bruxelles", "Brussels", "Liège", "Namur", "Charleroi", "Mons", "Louvain-la-Neuve", "Wavre", "Arlon", "Tournai", "Verviers", "Mouscron", "Nivelles", "Ottignies", "Huy", "Seraing", "Anvers", "Antwerp", "Gand", "Ghent", "Bruges", "Leuven", "Louvain", "Hasselt", "Malmedy", "Spa", "Dinant", "Bastogne", "Marche-en-Famenne", "Ath", "Braine-l'Alleud"]
) + (
    "Thetford Mines",
    "La Tuque",
    "La Baie",
    "La Sarre",
    "Saint John",
    "Grand Falls",
    "St. Stephen",
    "St. Andrews",
    "Grand Manan",
    "Smiths Falls",
    "North Bay",
    "Thunder Bay",
    "Sault Ste. Marie",
    "Niagara Falls",
    "St. Catharines",
    "Owen Sound",
    "Parry Sound",
    "Moose Jaw",
    "Red Deer",
    "Corner Brook",
    "Labrador City",
    "New Richmond",
    "La Pocatière",
    "La Malbaie",
    "Happy Valley-Goose Bay",
    "St. John's",
)

#: Organisations that recur in Canadian primary-care transcripts (pharmacy chains, home
#: care and community organisations), each a name on its own.
ORGANIZATIONS: tuple[str, ...] = (
    "Jean Coutu",
    "Familiprix",
    "Uniprix",
    "Proxim",
    "Pharmaprix",
    "Shoppers Drug Mart",
    "Rexall",
    "Lawtons",
    "Guardian",
    "ParaMed",
    "Armée du Salut",
    "Red Cross",
    "Croix-Rouge",
    "Centraide",
    "United Way",
    "Victorian Order of Nurses",
    "VON",
    "Extra-Mural",
    "Vitalité",
    "Horizon Health",
    "Desjardins",
)

#: Common given names (English and French Canada).
GIVEN_NAMES: tuple[str, ...] = tuple(
    ["Marie", "Jean", "Pierre", "Louise", "Anne", "Lucie", "Sylvie", "Nathalie", "Isabelle", "Chantal", "Josée", "Manon", "Johanne", "Martine", "Diane", "Francine", "Ginette", "Nicole", "Lise", "Suzanne", "Monique", "Denise", "Jocelyne", "Line", "Céline", "Hélène", "Danielle", "Louise", "Julie", "Mélanie", "Karine", "Annie", "Sophie", "Geneviève", "Catherine", "Valérie", "Caroline", "Marie-Ève", "Émilie", "Audrey", "Véronique", "Stéphanie", "Yvette", "Gisèle", "Huguette", "Réjeanne", "Pierrette", "Claudette", "Georgette", "Rachel", "Micheline", "Michel", "Jacques", "André", "Claude", "Daniel", "Alain", "Robert", "Gilles", "Denis", "Luc", "Marc", "Yves", "Serge", "Guy", "Richard", "Normand", "Gaétan", "Sylvain", "Stéphane", "Martin", "François", "Éric", "Patrick", "Mathieu", "Maxime", "Sébastien", "Jonathan", "Alexandre", "Nicolas", "Guillaume", "Simon", "Philippe", "Vincent", "Benoît", "Étienne", "Roger", "Marcel", "Gérard", "Lucien", "Rolland", "Conrad", "Jean-Guy", "Jean-Pierre", "Jean-Claude", "Jean-François", "Marie-Claude", "Marie-Josée", "Marie-France", "John", "Mary", "James", "Robert", "Michael", "William", "David", "Richard", "Joseph", "Thomas", "Charles", "Christopher", "Daniel", "Matthew", "Anthony", "Mark", "Donald", "Steven", "Paul", "Andrew", "Joshua", "Kenneth", "Kevin", "Brian", "George", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica", "Sarah", "Karen", "Nancy", "Lisa", "Betty", "Margaret", "Sandra", "Ashley", "Dorothy", "Kimberly", "Emily", "Donna", "Michelle", "Carol", "Amanda", "Melissa", "Deborah", "Stephanie", "Rebecca", "Sharon", "Laura", "Cynthia", "Kathleen", "Amy", "Angela", "Shirley", "Pamela", "Harold", "Walter", "Arthur", "Albert", "Ernest", "Earl", "Lloyd", "Wayne", "Dale", "Bob", "Bill", "Jim", "Joe", "Ted", "Fred", "Ron", "Don", "Ken", "Tim", "Jeff", "Greg", "Tyler", "Ryan", "Justin", "Brandon", "Heather", "Tammy", "Tracy", "Wendy", "Sheila", "Joan", "Judy", "Janet", "Gail", "Peggy", "Marlene", "Bonnie", "Debbie"]
)

#: Common surnames of Quebec, Acadia and English Canada.
SURNAMES: tuple[str, ...] = tuple(
    ["Tremblay", "Gagnon", "Roy", "Côté", "Bouchard", "Gauthier", "Morin", "Lavoie", "Fortin", "Gagné", "Ouellet", "Pelletier", "Bélanger", "Lévesque", "Bergeron", "Leblanc", "LeBlanc", "Paquette", "Girard", "Simard", "Boucher", "Caron", "Beaulieu", "Cloutier", "Dubé", "Poirier", "Fournier", "Lapointe", "Leclerc", "Lefebvre", "Poulin", "Thibault", "St-Pierre", "Nadeau", "Landry", "Martel", "Bédard", "Grenier", "Lessard", "Bernier", "Michaud", "Hébert", "Desjardins", "Couture", "Turcotte", "Lachance", "Blais", "Gosselin", "Savard", "Proulx", "Beaudoin", "Demers", "Perron", "Boudreau", "Cyr", "Arsenault", "Doucet", "Cormier", "Gallant", "Thériault", "Bourque", "Goguen", "Melanson", "Savoie", "Daigle", "Comeau", "Chiasson", "Losier", "Mallet", "Haché", "Godin", "Duguay", "Boudreault", "Boisvert", "Gendron", "Charbonneau", "Dufour", "Ménard", "Rousseau", "Lemieux", "Brisson", "Champagne", "Labelle", "Lacroix", "Marchand", "Sauvé", "Bisson", "Smith", "Brown", "Wilson", "MacDonald", "Campbell", "Stewart", "Robertson", "Thomson", "Anderson", "Taylor", "Johnson", "Williams", "Jones", "Miller", "Davis", "Clark", "Lewis", "Walker", "Hall", "Young", "King", "Wright", "Scott", "Green", "Baker", "Adams", "Nelson", "Hill", "Mitchell", "Roberts", "Carter", "Phillips", "Evans", "Turner", "Parker", "Collins", "Edwards", "Morris", "Murphy", "Cook", "Rogers", "Morgan", "Cooper", "Peterson", "Reed", "Bailey", "Kelly", "Howard", "Cox", "Ward", "Richardson", "Watson", "Brooks", "Wood", "James", "Bennett", "Gray", "Hughes", "Price", "Sanders", "Myers", "Long", "Ross", "Foster", "MacKenzie", "McDonald", "MacLean", "MacLeod", "MacKinnon", "McLean", "Fraser", "Murray", "Cameron", "Grant", "Patel", "Singh", "Nguyen", "Tran", "Chen", "Wang", "Li", "Zhang", "Liu", "Kim", "Lee", "Park", "Khoury"]
)
