"""The toy corpus the tiny checkpoints of `hubgen.offline.tiny` learn their tokenizers and weights from.

Written for hubgen, short and plain on purpose: a model of a few thousand parameters can learn it in a few
hundred steps, so a masked word in one of these sentences has one sensible answer the model can actually find.
Kept as a Python module rather than a data file so it ships with the package without any package-data rules.
"""

from __future__ import annotations

ENGLISH: tuple[str, ...] = (
    "The cat sleeps on the warm mat.",
    "The dog runs in the green park.",
    "A small bird sings in the old tree.",
    "The sun is hot in the summer.",
    "The moon is bright at night.",
    "We read books in the quiet library.",
    "My sister plays the piano every evening.",
    "The children walk to school in the morning.",
    "Rain falls on the roof of the house.",
    "The river flows slowly to the sea.",
    "She drinks a cup of tea with milk.",
    "He eats bread and cheese for lunch.",
    "The train leaves the station at noon.",
    "Snow covers the mountains in winter.",
    "The baker sells fresh bread every day.",
    "Fish swim in the cold clear water.",
    "The farmer grows apples and pears.",
    "Our teacher writes on the black board.",
    "The old man walks his dog at dawn.",
    "Leaves turn red and yellow in autumn.",
    "The boat sails across the calm lake.",
    "A red car stops at the corner.",
    "The doctor helps the sick child.",
    "Bees make honey from the flowers.",
    "The wind blows through the open window.",
    "My brother likes to play football.",
    "The kitchen smells of warm soup.",
    "Stars shine in the dark sky.",
    "The shop opens at nine in the morning.",
    "We plant flowers in the spring garden.",
    "The cow gives milk on the farm.",
    "A bell rings at the end of the class.",
    "The painter paints a blue sky.",
    "The baby sleeps in a small bed.",
    "They swim in the sea in the summer.",
    "The clock on the wall is very old.",
    "The king lives in a large castle.",
    "A mouse hides under the wooden table.",
    "The girl rides her bike to the market.",
    "Good friends share their lunch.",
)

FRENCH: tuple[str, ...] = (
    "Le chat dort sur le tapis chaud.",
    "Le chien court dans le parc vert.",
    "Un petit oiseau chante dans le vieil arbre.",
    "Le soleil est chaud en été.",
    "La lune est claire pendant la nuit.",
    "Nous lisons des livres à la bibliothèque.",
    "Ma sœur joue du piano tous les soirs.",
    "Les enfants vont à l'école le matin.",
    "La pluie tombe sur le toit de la maison.",
    "La rivière coule doucement vers la mer.",
    "Elle boit une tasse de thé au lait.",
    "Il mange du pain et du fromage à midi.",
    "Le train quitte la gare à midi.",
    "La neige couvre les montagnes en hiver.",
    "Le boulanger vend du pain frais chaque jour.",
    "Les poissons nagent dans l'eau froide.",
    "Le fermier cultive des pommes et des poires.",
    "Le professeur écrit au tableau noir.",
    "Le vieil homme promène son chien à l'aube.",
    "Les feuilles deviennent rouges en automne.",
    "Le bateau traverse le lac calme.",
    "Une voiture rouge s'arrête au coin de la rue.",
    "Le médecin soigne l'enfant malade.",
    "Les abeilles font du miel avec les fleurs.",
    "Le vent souffle par la fenêtre ouverte.",
    "Mon frère aime jouer au football.",
    "La cuisine sent la soupe chaude.",
    "Les étoiles brillent dans le ciel noir.",
    "Le magasin ouvre à neuf heures du matin.",
    "Nous plantons des fleurs au printemps.",
)

# The corpus of each language a type's `language` names.
CORPORA: dict[str, tuple[str, ...]] = {"en": ENGLISH, "fr": FRENCH}
