/// Word material for todo titles and descriptions, in the languages an international team writes in.
enum Phrases {
    static let verbs = [
        "Review", "Call", "Email", "Prepare", "Book", "Renew", "Pay", "Send", "Fix", "Update", "Plan", "Check",
        "Submit", "Order", "Schedule", "Clean", "Write", "Finish", "Cancel", "Buy",
        "Überprüfen", "Réserver", "Préparer", "Llamar a", "Enviar", "Проверить", "確認する", "准备",
    ]

    static let objects = [
        "the quarterly report", "dentist appointment", "car insurance", "passport", "electricity bill",
        "slides for Monday", "flight to Lisbon", "team offsite", "tax return", "birthday gift for Ana",
        "the kitchen sink", "library books", "gym membership", "invoice #4711", "rent", "server certificates",
        "notes, drafts and outlines", "groceries: milk, eggs, bread", "Zoë's piano lesson", "café order",
        "Müller & Söhne contract", "l'assurance habitation", "la reunión del martes", "визу в посольстве",
        "歯医者の予約", "年度报告", "backup of photos 📷", "the naïve Bayes notebook", "Crème brûlée recipe",
    ]

    static let contexts = [
        "", "", "", " before lunch", " (urgent)", " for the family", " — follow up", " again", ", then archive",
        " with Łukasz", " at the Rathaus", " for Q3", " 🚀",
    ]

    static let sentences = [
        "Bring the signed copy and two forms of ID.",
        "Ask about the discount, the warranty, and the delivery date.",
        "Remember: the office closes early on Fridays.",
        "Link: https://example.com/tickets/4711?ref=cal;mode=full",
        "Agenda:\n1. budget\n2. hiring\n3. roadmap",
        "Notes from last time; nothing decided yet.",
        "Grüße an das ganze Team, schöne Woche!",
        "N'oubliez pas le reçu, s'il vous plaît.",
        "Llevar el pasaporte y la tarjeta de embarque.",
        "Позвонить до 18:00, иначе перенести на завтра.",
        "会議室は3階です。資料を印刷してください。",
        "检查所有附件，然后发送给财务部。",
        "Backslashes \\ and semicolons ; must survive escaping, as must commas, too.",
        "Call +1 (555) 010-4477, ext. 12.",
        "Shopping list:\n- apples\n- oat milk\n- coffee ☕",
        "Budget: €1,250.00 — approved by Søren.",
    ]
}
